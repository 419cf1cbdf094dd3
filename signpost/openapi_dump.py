"""Write openapi.yaml from the app (`make openapi`)."""

import sys
from pathlib import Path

import yaml

from signpost.app import create_app


def main() -> None:
    spec = create_app().openapi()
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "openapi.yaml")
    target.write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True))
    print(f"wrote {target} ({len(spec['paths'])} paths)")


if __name__ == "__main__":
    main()
