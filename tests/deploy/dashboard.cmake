# dashboards/memoryguard.json: the lint (tests/deploy/dashboard_lint_test.cpp).
# The queries themselves run against a real Prometheus in the integration
# suite PrometheusE2E.
find_package(nlohmann_json 3 REQUIRED)
add_executable(dashboard_lint_test ${CMAKE_CURRENT_LIST_DIR}/dashboard_lint_test.cpp)
target_link_libraries(dashboard_lint_test PRIVATE GTest::gtest_main nlohmann_json::nlohmann_json)
target_compile_definitions(dashboard_lint_test PRIVATE
  MG_DASHBOARD="${PROJECT_SOURCE_DIR}/dashboards/memoryguard.json")
add_test(NAME dashboard_lint COMMAND dashboard_lint_test)
set_tests_properties(dashboard_lint PROPERTIES LABELS deploy TIMEOUT 60)

# The provisioning files that load it: valid YAML, with the paths and uid
# that dashboards/README.md and the compose file rely on.
set(YQ yq)  # a test tool: looked up when the tests run
set(GRAFANA_PROVISIONING ${PROJECT_SOURCE_DIR}/deploy/grafana/provisioning)
add_test(NAME dashboard_provisioning_datasource
  COMMAND ${YQ} -e ".apiVersion == 1 and (.datasources | length) == 1
    and .datasources[0].type == \"prometheus\" and .datasources[0].uid == \"prometheus\"
    and .datasources[0].url == \"http://prometheus:9090\""
    ${GRAFANA_PROVISIONING}/datasources/prometheus.yml)
add_test(NAME dashboard_provisioning_provider
  COMMAND ${YQ} -e ".apiVersion == 1 and .providers[0].type == \"file\"
    and .providers[0].options.path == \"/var/lib/grafana/dashboards\""
    ${GRAFANA_PROVISIONING}/dashboards/memoryguard.yml)
set_tests_properties(dashboard_provisioning_datasource dashboard_provisioning_provider
  PROPERTIES LABELS deploy TIMEOUT 30)
