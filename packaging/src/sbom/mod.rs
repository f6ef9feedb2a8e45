//! CycloneDX SBOMs for the installers (issue 15, being written).
