# Every example in config/ loads on this host, as an operator copies it.
file(GLOB EXAMPLE_CONFIGS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/config/*.yaml)
foreach(example ${EXAMPLE_CONFIGS})
  get_filename_component(name ${example} NAME_WE)
  add_test(NAME config_example_${name}
    COMMAND $<TARGET_FILE:memoryguard> --config.file=${example} --check-config)
  set_tests_properties(config_example_${name} PROPERTIES LABELS deploy
    PASS_REGULAR_EXPRESSION "^config OK: ")
endforeach()
