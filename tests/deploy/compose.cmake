# The compose demo (deploy/docker-compose.yml), checked statically: no engine
# or registry is needed (promtool and python3-yaml are; Debian's docker-compose,
# when installed, adds a schema check). The container image itself is tested
# end to end by tests/deploy/container_test.sh, a CI step of its own (podman,
# minutes).
add_test(NAME deploy_compose
  COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/compose_check.sh $<TARGET_FILE:memoryguard>)
set_tests_properties(deploy_compose PROPERTIES LABELS deploy TIMEOUT 120)
