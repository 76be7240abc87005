"""Models from other frameworks, read as data and mapped onto this project's networks."""
