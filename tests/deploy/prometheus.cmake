# deploy/prometheus/: the scrape config, the alert rules and their unit tests,
# checked by the real promtool (Debian package prometheus, installed by
# `deploy/install-deps.sh --test`; looked up when the tests run, so that a
# build without the test tools still configures).
set(PROMTOOL promtool)
set(PROMETHEUS_DIR ${PROJECT_SOURCE_DIR}/deploy/prometheus)

add_test(NAME prometheus_check_config
  COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/prometheus_check_config.sh ${PROMTOOL}
    ${PROMETHEUS_DIR}/prometheus.yml ${CMAKE_CURRENT_LIST_DIR}/prometheus_pods.json
    ${CMAKE_CURRENT_LIST_DIR}/prometheus_pods.expected)
add_test(NAME prometheus_check_rules
  COMMAND ${PROMTOOL} check rules ${PROMETHEUS_DIR}/alerts.yml
    ${PROMETHEUS_DIR}/kubernetes.rules.yml)
add_test(NAME prometheus_test_rules
  COMMAND ${PROMTOOL} test rules ${PROMETHEUS_DIR}/alerts_test.yml
    ${PROMETHEUS_DIR}/kubernetes.rules_test.yml)
set_tests_properties(prometheus_check_config prometheus_check_rules prometheus_test_rules
  PROPERTIES LABELS deploy TIMEOUT 60)

add_test(NAME prometheus_runbook_anchors
  COMMAND ${CMAKE_CURRENT_LIST_DIR}/prometheus_runbook_anchors.sh
    ${PROMETHEUS_DIR}/alerts.yml ${PROJECT_SOURCE_DIR}/README.md)
set_tests_properties(prometheus_runbook_anchors PROPERTIES LABELS deploy)
