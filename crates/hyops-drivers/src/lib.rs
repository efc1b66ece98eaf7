//! Tool adapters: shell, terraform, packer, ansible. Build commands, render inputs, parse results.
