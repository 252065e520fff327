"""`trt-text-classifier run ARGS` in a process with no Google credentials, for the GCS emulator.

Run as a script by tests that start a streaming job reading models from the
emulator. Without credentials Beam retries `google.auth.default` for about
23 s before it settles for an anonymous client (what the emulator wants);
seeding its credential holder with "no credentials" skips that, as the
`offline_google_auth` fixture does inside the test process.
"""

from __future__ import annotations

import sys

from apache_beam.internal.gcp import auth

from trt_text_classifier.cli import main

if __name__ == "__main__":
    auth._Credentials._credentials_init = True
    auth._Credentials._credentials = None
    sys.exit(main(["run", *sys.argv[1:]]))
