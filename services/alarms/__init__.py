"""Smart-community alarms (issue 15): devices, ingestion doors, lifecycle, routing and escalation."""
