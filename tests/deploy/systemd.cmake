# deploy/systemd/memoryguard.service, checked by systemd-analyze itself.
add_test(NAME deploy_systemd_unit
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/systemd_verify.sh
    ${CMAKE_SOURCE_DIR}/deploy/systemd/memoryguard.service $<TARGET_FILE:memoryguard>)
set_tests_properties(deploy_systemd_unit PROPERTIES LABELS deploy)
