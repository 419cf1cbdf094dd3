"""`make ehr`: run the simulated EHR beside `make serve` (python -m tests.simulated_ehr --port 8900)."""

import argparse
import json

import uvicorn

from tests.simulated_ehr.app import CLIENT_ID, Ehr, create_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--signpost", default="http://127.0.0.1:8000", help="Signpost's base URL")
    args = parser.parse_args()
    base = f"http://127.0.0.1:{args.port}"
    ehr = Ehr(base_url=base, signpost_url=args.signpost.rstrip("/"))
    registration = [{"issuer": ehr.fhir_base, "jwks_url": base + "/jwks", "client_id": CLIENT_ID}]
    print("Start Signpost with:")
    print(f"  SIGNPOST_TRUSTED_EHRS='{json.dumps(registration)}' make serve")
    print(f"Then open {base}/ehr/patient (cards from Signpost's patient-view; the SMART link launches the template).")
    uvicorn.run(create_app(ehr), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
