from strataml.cli import doctor_main

raise SystemExit(doctor_main())
