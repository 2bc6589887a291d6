"""Serving: the FastAPI + LangServe server, the Gradio UI and the SQLite trace store."""
