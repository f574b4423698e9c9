"""Operations tools run from a shell or the installer: firmware bundle, hardware check, web front end, web users."""
