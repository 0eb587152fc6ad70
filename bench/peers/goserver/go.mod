module sonde.dev/bench/goserver

go 1.21
