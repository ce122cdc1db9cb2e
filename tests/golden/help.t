# Help, usage errors and exit codes of the command line.
engram --help
engram --version
# --version is a global option, accepted anywhere on the line as --help says
engram stats --version
engram --store missing.db export --what ltm --version
engram run --help
engram import --help
engram frobnicate
engram recal
engram --bogus
engram run --bogus
engram --now yesterday stats
engram --store
engram stats --store missing.db
# Usage errors name the option that was refused: a short option inside its argument, a long one
# without its =value, one that lacks its value or takes none; a text that starts with "-" gets
# the hint to put -- before it. -q and -v may be clustered.
engram remember "-5 degrees today"
engram recall -x "query"
engram stats -qx
engram stats -qv --store missing.db
engram export --what
engram export -o
engram export --bogus=3
engram recall --explain=yes garden
engram trace -k
# bench only says where the benchmarks are, and whether their helpers were built
engram bench
engram bench --json | jq -c '.benchmarks | map(.command)'
engram bench --json -q | jq -c .helpers
engram bench --k 3
