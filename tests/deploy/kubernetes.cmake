# deploy/kubernetes, checked offline against the API schemas (kubernetes-models
# and @kubernetes-models/prometheus-operator, pinned by package-lock.json and
# installed by `deploy/install-deps.sh --test`), plus the validator's own
# proof that it rejects broken manifests.
set(K8S_VALIDATOR_DIR ${CMAKE_CURRENT_SOURCE_DIR}/kubernetes)
set(K8S_MANIFESTS ${CMAKE_SOURCE_DIR}/deploy/kubernetes)
add_test(NAME deploy_kubernetes_manifests
  COMMAND node ${K8S_VALIDATOR_DIR}/validate.mjs ${K8S_MANIFESTS} $<TARGET_FILE:memoryguard>)
add_test(NAME deploy_kubernetes_validator_rejects_broken
  COMMAND node ${K8S_VALIDATOR_DIR}/validator_selftest.mjs ${K8S_MANIFESTS} $<TARGET_FILE:memoryguard>)
set_tests_properties(deploy_kubernetes_manifests deploy_kubernetes_validator_rejects_broken
  PROPERTIES LABELS deploy)
