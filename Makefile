# Developer and operator entry points. Each target is a thin wrapper around a script in
# deploy/ or tests/, which can also be run directly; see docs/operations.md.
.DEFAULT_GOAL := help
SHELL := /bin/bash

.PHONY: help setup build run test fuzz lint format stop clean

help:
	@echo "make setup   install missing Debian packages and the Kafka jars (deploy/setup/install-deps)"
	@echo "make build   setup, then configure and build into build/ (deploy/setup/build)"
	@echo "make run     build, start the local stack, submit the samples and show how to watch them"
	@echo "make test    setup, build, private Kafka+Redis on free ports, all ctest tests (tests/run)"
	@echo "make fuzz    setup, then the libFuzzer targets: clang build in build/fuzz, seeds, HUB_FUZZ_SECONDS (60) of fuzzing (tests/fuzz/run)"
	@echo "make lint    clang-format check and clang-tidy (deploy/setup/lint)"
	@echo "make bench   build, then pipeline vs gRPC echo throughput and latency on a private stack (bench/pipeline/run)"
	@echo "make bench-intake  build, then intake vs gRPC echo throughput and latency at a fixed concurrency (bench/intake/run)"
	@echo "make bench-triage  build, then triage assessments per second on one core, Google Benchmark (bench/triage/run)"
	@echo "make format  apply clang-format"
	@echo "make stop    stop the local stack (deploy/local/stack down)"
	@echo "make clean   remove build/"

setup:
	deploy/setup/install-deps

build: setup
	deploy/setup/build

run: build
	deploy/local/stack up
	deploy/local/demo

test:
	tests/run

fuzz: setup
	tests/fuzz/run

lint: build
	deploy/setup/lint

# bench/ is also a directory, so the target must be phony to run at all.
.PHONY: bench bench-intake bench-triage
bench: build
	bench/pipeline/run

bench-intake: build
	bench/intake/run

bench-triage: build
	bench/triage/run

format:
	deploy/setup/lint --format

stop:
	deploy/local/stack down

clean:
	rm -rf build
