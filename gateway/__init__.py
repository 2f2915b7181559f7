"""The HTTP/JSON gateway: the platform's only public door (FastAPI over gRPC to the services)."""
