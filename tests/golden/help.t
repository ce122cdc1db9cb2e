# Help, usage errors and exit codes of the command line.
engram --help
engram --version
engram run --help
engram import --help
engram frobnicate
engram --bogus
engram run --bogus
engram --now yesterday stats
engram --store
engram stats --store missing.db
