# Every dependency comes from Debian 12 packages; deploy/setup/install-deps installs them.
find_package(Threads REQUIRED)
find_package(Protobuf REQUIRED)
find_package(gRPC CONFIG REQUIRED)
find_package(absl CONFIG REQUIRED)
find_package(GTest CONFIG REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(benchmark REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(RDKAFKA REQUIRED IMPORTED_TARGET rdkafka++)
# The C library: the admin API and the mock cluster live there.
pkg_check_modules(RDKAFKA_C REQUIRED IMPORTED_TARGET rdkafka)
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
# Email over SMTP with STARTTLS (services/notification/smtp).
pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl)

find_program(HUB_PROTOC protoc REQUIRED)
find_program(HUB_GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)
