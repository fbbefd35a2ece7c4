"""`python -m omegacli.kernel -f CONNECTION_FILE [--session NAME]`: the process Jupyter starts."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m omegacli.kernel", add_help=False)
    ap.add_argument("--session", metavar="NAME")
    args, rest = ap.parse_known_args(sys.argv[1:] if argv is None else argv)

    from traitlets.config import Config

    from omegacli.kernel.app import OmegaKernelApp
    from omegacli.kernel.kernel import OmegaKernel

    config = Config()
    if args.session:
        config.OmegaKernel.omega_session = args.session
    OmegaKernelApp.launch_instance(argv=rest, kernel_class=OmegaKernel, config=config)


if __name__ == "__main__":
    main()
