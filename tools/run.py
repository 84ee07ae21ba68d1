from strataml.cli import run_main

raise SystemExit(run_main())
