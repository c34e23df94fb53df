# What `cmake --install` puts under the prefix:
#   lib/libgaze_*.a                the static libraries, one per folder
#   include/gaze/gaze.h            the public API
#   include/gaze/<folder>/*.h      the internals, for people who study or extend them
#   bin/gaze                       the command-line program
#   lib/cmake/gaze/                gazeConfig.cmake: find_package(gaze) -> gaze::gaze
#   lib/pkgconfig/gaze.pc          the same for pkg-config
# The internal headers include each other as "layers/model.h", so include/gaze is on consumers'
# include path beside include: <gaze/gaze.h> and <gaze/cam/explain.h> are the documented forms,
# and the short names are what keeps the headers unchanged between the source tree and the prefix.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(GAZE_VERSION 0.1.0)
set(gaze_components tensor autograd layers weights cam collection api)
foreach(component IN LISTS gaze_components)
  set_target_properties(gaze_${component} PROPERTIES EXPORT_NAME ${component})
endforeach()

# gaze::gaze: everything a program using gaze/gaze.h (and the internals) links.
add_library(gaze_all INTERFACE)
target_link_libraries(gaze_all INTERFACE gaze_api gaze_collection)
set_target_properties(gaze_all PROPERTIES EXPORT_NAME gaze)
add_library(gaze::gaze ALIAS gaze_all)

list(TRANSFORM gaze_components PREPEND gaze_ OUTPUT_VARIABLE gaze_libraries)
install(TARGETS ${gaze_libraries} gaze_all EXPORT gazeTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/gaze ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS gaze RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${PROJECT_SOURCE_DIR}/gaze/gaze.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/gaze)
foreach(folder tensor autograd layers weights cam collection)
  # The generated font and colormap tables are the cam library's private data.
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${folder} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/gaze
          FILES_MATCHING PATTERN "*.h" PATTERN "*_data.h" EXCLUDE)
endforeach()

install(EXPORT gazeTargets NAMESPACE gaze:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/gaze)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/gazeConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/gazeConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/gaze)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/gazeConfigVersion.cmake
                                 VERSION ${GAZE_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/gazeConfig.cmake ${PROJECT_BINARY_DIR}/gazeConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/gaze)

# pkg-config: static libraries, so every dependency is in Libs, in link order.
list(JOIN HDF5_C_LIBRARIES " " GAZE_PC_HDF5)
file(RELATIVE_PATH GAZE_PC_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
configure_file(${PROJECT_SOURCE_DIR}/cmake/gaze.pc.in ${PROJECT_BINARY_DIR}/gaze.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/gaze.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
