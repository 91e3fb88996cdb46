# install.cmake - `cmake --install` (make install): headers, both libraries,
# the eds tool, a pkg-config file and a CMake package config.
#
#   pkg-config:  cc prog.c $(pkg-config --cflags --libs edgesentry)
#   CMake:       find_package(edgesentry CONFIG REQUIRED)
#                target_link_libraries(app PRIVATE edgesentry::edgesentry)
include(CMakePackageConfigHelpers)

set(EDS_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/edgesentry)

# ---- headers -----------------------------------------------------------------
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/edgesentry
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h" PATTERN "*.hpp")
if(EXISTS ${PROJECT_SOURCE_DIR}/include/edgesentry_bridge.h)
  install(FILES ${PROJECT_SOURCE_DIR}/include/edgesentry_bridge.h
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endif()

# ---- libraries and the tool ----------------------------------------------------
# The shared library installs libedgesentry.so.X.Y.Z with its soname link
# (.so.X) in the runtime component and the bare .so in the development one.
install(TARGETS edgesentry edgesentry_static EXPORT edgesentryTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime
                NAMELINK_COMPONENT dev
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev)
install(TARGETS eds RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)

# The edgesentry-rs C bridge (src/bridge): libedgesentry_bridge.so and .a for
# programs written against edgesentry_bridge.h.  Installed without joining
# the export set, so that however it is linked the package config stays valid.
foreach(bridge edgesentry_bridge edgesentry_bridge_static)
  if(TARGET ${bridge})
    install(TARGETS ${bridge}
            LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT dev
            ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
            RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
  endif()
endforeach()

# ---- dependencies --------------------------------------------------------------
# The pkg-config modules the library links (its PkgConfig::<PREFIX> targets,
# whatever later layers add) become Requires.private of edgesentry.pc and
# are looked up again by edgesentryConfig.cmake for the exported targets.
get_target_property(_eds_links edgesentry LINK_LIBRARIES)
set(EDS_PC_REQUIRES "")
set(EDS_CONFIG_PKG_DEPS "")
foreach(lib IN LISTS _eds_links)
  if(lib MATCHES "^PkgConfig::(.+)$")
    set(_prefix ${CMAKE_MATCH_1})
    set(_module "${${_prefix}_MODULE_NAME}")
    if(_module STREQUAL "")
      message(FATAL_ERROR "install.cmake: no pkg-config module name for ${lib} "
              "(link one module per pkg_check_modules prefix)")
    endif()
    list(APPEND EDS_PC_REQUIRES ${_module})
    list(APPEND EDS_CONFIG_PKG_DEPS "${_prefix}:${_module}")
  endif()
endforeach()
list(REMOVE_DUPLICATES EDS_PC_REQUIRES)
list(JOIN EDS_PC_REQUIRES " " EDS_PC_REQUIRES)

# ---- pkg-config ------------------------------------------------------------------
# Written at install time so that `cmake --install --prefix P` (and a
# CMAKE_INSTALL_PREFIX changed after configuring) yields paths under P.
# Relative install dirs become ${prefix}-relative, absolute ones stay as given.
foreach(dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${dir}}")
    set(EDS_PC_${dir} "${CMAKE_INSTALL_${dir}}")
  else()
    set(EDS_PC_${dir} "\${prefix}/${CMAKE_INSTALL_${dir}}")
  endif()
endforeach()
set(EDS_PC_FILE ${PROJECT_BINARY_DIR}/edgesentry.pc)
install(CODE "
  set(EDS_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  set(EDS_PC_LIBDIR [==[${EDS_PC_LIBDIR}]==])
  set(EDS_PC_INCLUDEDIR [==[${EDS_PC_INCLUDEDIR}]==])
  set(PROJECT_VERSION [==[${PROJECT_VERSION}]==])
  set(PROJECT_DESCRIPTION [==[${PROJECT_DESCRIPTION}]==])
  set(EDS_PC_REQUIRES [==[${EDS_PC_REQUIRES}]==])
  set(EDS_PC_LIBS_PRIVATE [==[${CMAKE_THREAD_LIBS_INIT}]==])
  configure_file([==[${PROJECT_SOURCE_DIR}/cmake/edgesentry.pc.in]==] [==[${EDS_PC_FILE}]==] @ONLY)
" COMPONENT dev)
install(FILES ${EDS_PC_FILE} DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)

# ---- CMake package -------------------------------------------------------------------
install(EXPORT edgesentryTargets NAMESPACE edgesentry:: DESTINATION ${EDS_CMAKE_DIR}
        COMPONENT dev)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/edgesentryConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/edgesentryConfig.cmake
                              INSTALL_DESTINATION ${EDS_CMAKE_DIR})
# 0.x releases may break the API between minor versions, so 0.1 does not
# satisfy a request for 0.2 (SameMinorVersion); from 1.0 on, SameMajorVersion.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(_eds_compat SameMinorVersion)
else()
  set(_eds_compat SameMajorVersion)
endif()
write_basic_package_version_file(${PROJECT_BINARY_DIR}/edgesentryConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY ${_eds_compat})
install(FILES ${PROJECT_BINARY_DIR}/edgesentryConfig.cmake
              ${PROJECT_BINARY_DIR}/edgesentryConfigVersion.cmake
        DESTINATION ${EDS_CMAKE_DIR} COMPONENT dev)
