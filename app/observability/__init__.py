"""What operators see: JSON logs, Prometheus metrics, health and readiness."""
