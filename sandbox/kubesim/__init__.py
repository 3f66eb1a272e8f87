"""A local stand-in for a Kubernetes cluster: an API server emulator and a Job runner, for tests and the sandbox."""
