"""Knowledge bases: loading, heading-aware chunking, safe FAISS persistence and retrieval."""
