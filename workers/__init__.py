"""Background jobs. Workers import services, never api."""
