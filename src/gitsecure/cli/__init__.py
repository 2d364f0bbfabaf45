"""The command-line front end: a lazy command table, output and exit codes."""
