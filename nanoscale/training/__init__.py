"""LoRA fine-tuning of the assistant model: data, SFT, merge, GGUF export (see train.py)."""
