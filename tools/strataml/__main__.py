from strataml.cli import main

raise SystemExit(main())
