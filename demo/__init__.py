"""Demo and benchmark data: the reference world (`world`), generated request histories (`stories`) and the bulk
writer behind `manage.py seed_demo` (`seed`). A feature on top of the domain; nothing imports it."""
