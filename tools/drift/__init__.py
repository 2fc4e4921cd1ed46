"""Fleet-scale drift, data-quality, performance and latency signals from binned telemetry."""
