"""Fleet generation, seeding and status."""
