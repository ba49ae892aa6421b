package main

// porcupineVersion is set at build time (-X main.porcupineVersion=...) from build/tools/versions.env.
var porcupineVersion = "unset"
