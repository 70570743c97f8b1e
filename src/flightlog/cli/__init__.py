"""The `flightlog` command: one module per subcommand, registered in `flightlog.cli.app`."""
