module sonde.dev/bench/loadgen

go 1.21
