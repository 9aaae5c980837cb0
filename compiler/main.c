/* qccc: the compiler and operator CLI. The commands, their help, "did you
 * mean" and shell completion all come from one table (compiler/commands.h).
 * Exit codes: 0 ok / valid / same, 1 invalid / different / failed, 2 usage
 * or I/O trouble. */
#include "compiler/commands.h"

int main(int argc, char **argv) { return qccc_main(argc, argv); }
