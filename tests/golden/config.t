# Configuration: defaults, profiles, relative paths, unknown profile and key, secrets.
engram config check
printf 'store = base.db\nsource.lookback = 2m\n[profile prod]\nstore = data/prod.db\nsource = postgresql://reader@db.example/memories?sslmode=require\nstaging.max_age = 6 months\n[profile dev]\nsource = sqlite:dev.db\n' > engram.conf
engram config check
engram --profile prod config check
ENGRAM_PROFILE=dev engram config check --json
engram --profile staging config check
printf 'store = x.db\nsorce = oops\n' > bad.conf
engram --config bad.conf config check
printf 'source = postgresql://reader:s3cretpw@db.example/memories\n' > secret.conf
chmod 644 secret.conf; engram --config secret.conf config check
chmod 600 secret.conf; engram --config secret.conf config check
engram --source 'host=db.example password=s3cretpw' config check
engram --config missing.conf config check
# an empty store path is refused (SQLite would keep the data in a temporary database)
engram --store '' init
printf '# empty\nstore =\n' > empty.conf; engram --config empty.conf remember 'a note'
ls -A
# values out of range, and an unknown stemming language, are refused at load with the key named
printf 'rem.batch = 1000000000\n' > range.conf; engram --config range.conf config check
printf 'staging.language = klingon\n' > lang.conf; engram --config lang.conf config check
# a folder is not a config file
mkdir cdir; engram --config cdir config check
mkdir -p sub/engram.conf; cd sub && engram init
# --json is valid UTF-8 even for values, config paths and store paths that are not (U+FFFD)
printf 'source.schema = \377\376\n' > "$(printf 'u\377.conf')"; engram --config "$(printf 'u\377.conf')" config check --json | grep -o '"file":"[^"]*"\|{"key":"source.schema"[^}]*}'
engram --store "$(printf 's\376.db')" init --json
# range errors name the line and profile; config check loads profiles it did not select too
printf 'wm.tick = 30s\n[profile p]\nwm.tick = 10m\n' > pe.conf; engram --config pe.conf --profile p config check
printf 'wm.tick = 30s\n[profile p]\nwm.tick = bad\n' > latent.conf; engram --config latent.conf config check
engram --config latent.conf init --json
# profiles are listed as inih parses them: a BOM is skipped, a name ending in a space refused
printf '\357\273\277[profile p]\nwm.tick = 30s\n' > bom.conf; engram --config bom.conf --profile p config check | grep wm.tick
printf '[profile x ]\nwm.tick = 30s\n' > space.conf; engram --config space.conf config check
# relative file names in a PostgreSQL source resolve against the config file's folder (not --source's)
mkdir tls; printf 'source = host=db.example sslmode=verify-full sslrootcert=ca.crt dbname=notes\n[profile uri]\nsource = postgresql://reader@db.example/notes?sslmode=verify-full&sslrootcert=ca.crt&sslcert=/etc/engram/c.crt\n[profile sys]\nsource = host=db.example sslrootcert=system\n' > tls/tls.conf; engram --config tls/tls.conf config check | grep '^  source  '
engram --config tls/tls.conf --profile uri config check | grep '^  source  '
engram --config tls/tls.conf --profile sys config check | grep '^  source  '
engram --config tls/tls.conf --source 'host=db.example sslrootcert=ca.crt' config check | grep '^  source  '
# a setting with no value is null in JSON (no --source: the store's own memories table), a
# placeholder in text
engram --config /dev/null config check --json | grep -o '{"key":"source","value":[^}]*}'
engram --config /dev/null config check | grep '^  source  '
