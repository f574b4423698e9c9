"""Operations tools run from a shell or the installer: firmware bundle, hardware check, the web front end."""
