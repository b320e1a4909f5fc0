# deploy/bash-completion/memoryguard, driven as bash drives it.
add_test(NAME deploy_bash_completion
  COMMAND ${CMAKE_CURRENT_LIST_DIR}/bash_completion_test.sh $<TARGET_FILE:memoryguard>
    ${PROJECT_SOURCE_DIR}/deploy/bash-completion/memoryguard)
set_tests_properties(deploy_bash_completion PROPERTIES LABELS deploy TIMEOUT 60)
