"""Sources and sinks: text files, JSON Lines, Pub/Sub messages, windowed files, BigQuery rows."""
