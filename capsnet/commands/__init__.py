"""What the command line's commands do, once the backend is set up."""
