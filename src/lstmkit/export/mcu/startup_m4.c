/* Minimal Cortex-M4F start-up for QEMU's mps2-an386: the vector table (initial stack,
 * reset handler), the FPU switched on (code built for -mfloat-abi=hard needs it), then
 * newlib's _start, which zeroes .bss, sets up semihosting and calls main. */
extern void _start(void);
extern unsigned long __stack_top;
void reset_handler(void);

__attribute__((section(".vectors"), used))
static void (*const vectors[2])(void) = {(void (*)(void))&__stack_top, reset_handler};

void reset_handler(void)
{
    /* CPACR: full access to coprocessors 10 and 11 (the FPU). */
    *(volatile unsigned long *)0xE000ED88UL |= 0xFUL << 20;
    __asm__ volatile("dsb\n\tisb");
    _start();
}
