"""How medcode runs: the local runner and (later) Kubernetes manifests."""
