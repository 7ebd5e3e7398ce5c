/*
 * dirtier — the workload of vmctl's test guest (see guest/README.md).
 *
 * Dirties a working set of N MiB at R MiB/s, so that live migration has
 * something to chase, and proves the memory came through intact:
 *
 *   - every page of the working set carries a stamp (page number and a
 *     per-page generation) in several words spread over the page; each time
 *     a page is dirtied its stamp is checked, then replaced by the next
 *     generation; a background sweep re-checks every page once per pass.
 *     Any mismatch prints "CORRUPT page=<n> ..." (the test's failure line).
 *   - every HB_MS (200 ms) it prints "HB <seq> <uptime_ms>"; the gap between
 *     two heartbeats on the serial log is the pause the guest saw.
 *   - if /dev/vda exists, its first sector holds a boot counter (magic +
 *     number), incremented and fsync'ed at start: "BOOT <n>". Only when
 *     /etc/vmctl-guest exists (the guest's initramfs has it), so that a run
 *     on a host never writes to the host's disk.
 *
 * Parameters come from the kernel command line (/proc/cmdline):
 *   vmctl.dirty_mib=N   working set, MiB (default 32; keep <= 48 in 128 MiB)
 *   vmctl.dirty_rate=R  MiB dirtied per second (default 8; 0 = idle)
 *   vmctl.hb_ms=T       heartbeat period, ms (default 200)
 *   vmctl.disk=PATH     boot counter device (default /dev/vda)
 *
 * Built static: gcc -O2 -static -o dirtier dirtier.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096u
#define WORDS_PER_PAGE (PAGE / sizeof(uint64_t))
#define STAMP_STRIDE 64u /* check/write one word every 512 bytes */
#define TICK_MS 10u
#define BOOT_MAGIC "VMCTLBC1"

struct params {
    long dirty_mib;
    long dirty_rate;
    long hb_ms;
    char disk[128];
};

static void say(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (n > (int)sizeof(buf) - 2)
        n = sizeof(buf) - 2;
    buf[n++] = '\n';
    /* One write per line so lines from other writers never interleave. */
    if (write(STDOUT_FILENO, buf, n) < 0)
        return;
}

static uint64_t now_ms(clockid_t clk)
{
    struct timespec ts;

    clock_gettime(clk, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(uint64_t ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static void read_params(struct params *p)
{
    char line[4096], *tok, *save = NULL;
    ssize_t n;
    int fd;

    p->dirty_mib = 32;
    p->dirty_rate = 8;
    p->hb_ms = 200;
    snprintf(p->disk, sizeof(p->disk), "/dev/vda");

    fd = open("/proc/cmdline", O_RDONLY);
    if (fd < 0)
        return;
    n = read(fd, line, sizeof(line) - 1);
    close(fd);
    if (n <= 0)
        return;
    line[n] = '\0';
    for (tok = strtok_r(line, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
        if (!strncmp(tok, "vmctl.dirty_mib=", 16))
            p->dirty_mib = strtol(tok + 16, NULL, 10);
        else if (!strncmp(tok, "vmctl.dirty_rate=", 17))
            p->dirty_rate = strtol(tok + 17, NULL, 10);
        else if (!strncmp(tok, "vmctl.hb_ms=", 12))
            p->hb_ms = strtol(tok + 12, NULL, 10);
        else if (!strncmp(tok, "vmctl.disk=", 11))
            snprintf(p->disk, sizeof(p->disk), "%s", tok + 11);
    }
    if (p->dirty_mib < 0)
        p->dirty_mib = 0;
    if (p->dirty_rate < 0)
        p->dirty_rate = 0;
    if (p->hb_ms < 10)
        p->hb_ms = 10;
}

/* BOOT counter: sector 0 = "VMCTLBC1" + little-endian uint64 count. */
static void boot_counter(const char *disk)
{
    unsigned char sector[512];
    uint64_t count = 0;
    int fd;

    /* Only inside the test guest: on a host, /dev/vda may be the root disk. */
    if (access("/etc/vmctl-guest", F_OK) < 0)
        return;
    fd = open(disk, O_RDWR);
    if (fd < 0) {
        if (errno != ENOENT && errno != ENXIO)
            say("BOOTCOUNT error open %s: %s", disk, strerror(errno));
        return;
    }
    if (pread(fd, sector, sizeof(sector), 0) != (ssize_t)sizeof(sector)) {
        say("BOOTCOUNT error read %s: %s", disk, strerror(errno));
        goto out;
    }
    if (!memcmp(sector, BOOT_MAGIC, 8))
        memcpy(&count, sector + 8, sizeof(count));
    else
        memset(sector, 0, sizeof(sector));
    count++;
    memcpy(sector, BOOT_MAGIC, 8);
    memcpy(sector + 8, &count, sizeof(count));
    if (pwrite(fd, sector, sizeof(sector), 0) != (ssize_t)sizeof(sector) || fsync(fd) < 0) {
        say("BOOTCOUNT error write %s: %s", disk, strerror(errno));
        goto out;
    }
    say("BOOT %llu", (unsigned long long)count);
out:
    close(fd);
}

static inline uint64_t stamp(uint64_t page, uint64_t gen, unsigned word)
{
    /* Distinct per page, generation and word; never all-zero. */
    return 0x5654434c00000000ull ^ (page << 24) ^ (gen << 8) ^ word ^ 0x80;
}

struct ws {
    uint64_t *mem;
    uint32_t *gen; /* expected generation per page */
    uint64_t pages;
    uint64_t corrupt;
};

static void stamp_write(struct ws *w, uint64_t page)
{
    uint64_t *p = w->mem + page * WORDS_PER_PAGE;
    unsigned i;

    for (i = 0; i < WORDS_PER_PAGE; i += STAMP_STRIDE)
        p[i] = stamp(page, w->gen[page], i);
    p[WORDS_PER_PAGE - 1] = stamp(page, w->gen[page], WORDS_PER_PAGE - 1);
}

static int stamp_check(struct ws *w, uint64_t page)
{
    uint64_t *p = w->mem + page * WORDS_PER_PAGE;
    unsigned i;

    for (i = 0; i <= WORDS_PER_PAGE; i += STAMP_STRIDE) {
        unsigned word = i < WORDS_PER_PAGE ? i : WORDS_PER_PAGE - 1;
        uint64_t want = stamp(page, w->gen[page], word);

        if (p[word] != want) {
            w->corrupt++;
            say("CORRUPT page=%llu word=%u gen=%u want=%016llx got=%016llx",
                (unsigned long long)page, word, w->gen[page],
                (unsigned long long)want, (unsigned long long)p[word]);
            /* Re-stamp so one bad page is reported once, not forever. */
            stamp_write(w, page);
            return -1;
        }
    }
    return 0;
}

static void dirty_page(struct ws *w, uint64_t page)
{
    stamp_check(w, page);
    w->gen[page]++;
    stamp_write(w, page);
}

static int ws_init(struct ws *w, long mib)
{
    uint64_t page;

    memset(w, 0, sizeof(*w));
    w->pages = (uint64_t)mib * (1024 * 1024 / PAGE);
    if (!w->pages)
        return 0;
    w->mem = mmap(NULL, w->pages * PAGE, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    w->gen = calloc(w->pages, sizeof(*w->gen));
    if (w->mem == MAP_FAILED || !w->gen) {
        say("DIRTIER error: cannot allocate %ld MiB", mib);
        w->pages = 0;
        return -1;
    }
    mlock(w->mem, w->pages * PAGE); /* best effort; there is no swap anyway */
    for (page = 0; page < w->pages; page++)
        stamp_write(w, page);
    return 0;
}

int main(void)
{
    struct params p;
    struct ws w;
    uint64_t start, next_hb, hb_seq = 0, dirtied = 0, cursor = 0, sweep = 0;
    uint64_t sweep_per_tick;

    read_params(&p);
    boot_counter(p.disk);
    ws_init(&w, p.dirty_mib);
    say("DIRTIER start mib=%ld rate=%ld hb_ms=%ld pages=%llu", p.dirty_mib,
        p.dirty_rate, p.hb_ms, (unsigned long long)w.pages);

    /* The sweep re-checks the whole set about every 2 s. */
    sweep_per_tick = w.pages ? w.pages * TICK_MS / 2000 + 1 : 0;
    start = now_ms(CLOCK_MONOTONIC);
    next_hb = start;
    for (;;) {
        uint64_t t = now_ms(CLOCK_MONOTONIC);
        uint64_t due, i;

        if (t >= next_hb) {
            say("HB %llu %llu", (unsigned long long)hb_seq++,
                (unsigned long long)now_ms(CLOCK_BOOTTIME));
            next_hb += p.hb_ms;
            if (next_hb <= t) /* we were paused: do not print a burst */
                next_hb = t + p.hb_ms;
        }
        if (w.pages) {
            /* Pages due by now at the requested rate; capped so a long
             * pause does not turn into a burst. */
            due = (t - start) * (uint64_t)p.dirty_rate * (1024 * 1024 / PAGE) / 1000;
            if (due > dirtied + w.pages)
                dirtied = due - w.pages;
            for (; dirtied < due; dirtied++) {
                dirty_page(&w, cursor);
                cursor = (cursor + 1) % w.pages;
            }
            for (i = 0; i < sweep_per_tick; i++) {
                stamp_check(&w, sweep);
                sweep = (sweep + 1) % w.pages;
            }
        }
#ifdef DIRTIER_SELFTEST
        /* gcc -DDIRTIER_SELFTEST: flip one word after 1 s, to see the
         * checker report it (run on any Linux host; no disk is touched). */
        static int flipped;
        if (w.pages > 5 && t - start >= 1000 && !flipped++)
            w.mem[5 * WORDS_PER_PAGE] ^= 1;
#endif
        sleep_ms(TICK_MS);
    }
    return 0;
}
