"""``python -m flightlog``: the same as the ``flightlog`` console script."""

from flightlog.cli.app import main

if __name__ == "__main__":
    main()
