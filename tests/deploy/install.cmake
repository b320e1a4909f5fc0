# deploy/install.cmake: `cmake --install` into a scratch DESTDIR, for the
# prefixes /usr and /usr/local, must give the package's layout.
if(NOT MEMORYGUARD_INSTALL_DATA OR NOT MEMORYGUARD_MAN)
  return()
endif()
add_test(NAME deploy_install_tree
  COMMAND ${CMAKE_CURRENT_LIST_DIR}/install_tree_test.sh ${CMAKE_BINARY_DIR} ${CMAKE_SOURCE_DIR})
set_tests_properties(deploy_install_tree PROPERTIES LABELS deploy TIMEOUT 120)
