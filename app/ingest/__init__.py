"""Network inputs that forward received logs to Kafka (syslog, ...)."""
