#define _GNU_SOURCE
#include "team.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>

typedef struct {
  unsigned threads, passes;
  kb_team_fn fn;
  void* arg;
  pthread_barrier_t barrier;
  // Start gate: members created before a failed pthread_create leave without running.
  pthread_mutex_t gate_lock;
  pthread_cond_t gate;
  int state;  // 0 wait, 1 run, 2 cancel
  cpu_set_t allowed;  // the process's CPUs when the team started
  double* start;  // [passes + 1][threads]
  double* end;
} team_t;

typedef struct {
  team_t* team;
  unsigned index;
} member_t;

static double now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

// Member i runs on the i-th CPU this process may use (when there are enough): the ceilings
// measure n cores at once, not however the scheduler first places n new threads.
static void pin_member(const cpu_set_t* allowed, unsigned index) {
  const int count = CPU_COUNT(allowed);
  if (count <= 0 || index >= (unsigned)count) return;
  unsigned seen = 0;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, allowed)) continue;
    if (seen++ == index) {
      cpu_set_t one;
      CPU_ZERO(&one);
      CPU_SET(cpu, &one);
      pthread_setaffinity_np(pthread_self(), sizeof(one), &one);
      return;
    }
  }
}

static void run_member(team_t* team, unsigned index) {
  pin_member(&team->allowed, index);
  for (unsigned pass = 0; pass <= team->passes; ++pass) {
    pthread_barrier_wait(&team->barrier);
    team->start[pass * team->threads + index] = now_seconds();
    team->fn(team->arg, index);
    team->end[pass * team->threads + index] = now_seconds();
    pthread_barrier_wait(&team->barrier);
  }
}

static void* member_main(void* p) {
  member_t* m = (member_t*)p;
  team_t* team = m->team;
  pthread_mutex_lock(&team->gate_lock);
  while (team->state == 0) pthread_cond_wait(&team->gate, &team->gate_lock);
  const int state = team->state;
  pthread_mutex_unlock(&team->gate_lock);
  if (state == 1) run_member(team, m->index);
  return NULL;
}

int kb_team_run(unsigned threads, unsigned passes, kb_team_fn fn, void* arg, double* seconds) {
  if (threads == 0) threads = 1;
  team_t team = {.threads = threads, .passes = passes, .fn = fn, .arg = arg};
  const size_t slots = (size_t)(passes + 1) * threads;
  team.start = (double*)calloc(slots, sizeof(double));
  team.end = (double*)calloc(slots, sizeof(double));
  member_t* members = (member_t*)calloc(threads, sizeof(member_t));
  pthread_t* ids = (pthread_t*)calloc(threads, sizeof(pthread_t));
  if (!team.start || !team.end || !members || !ids) {
    free(team.start); free(team.end); free(members); free(ids);
    return -1;
  }
  // The caller is member 0: it is pinned for the run and gets its own mask back afterwards.
  cpu_set_t caller_mask;
  const int have_mask = pthread_getaffinity_np(pthread_self(), sizeof(caller_mask), &caller_mask) == 0;
  if (have_mask) team.allowed = caller_mask; else CPU_ZERO(&team.allowed);
  pthread_barrier_init(&team.barrier, NULL, threads);
  pthread_mutex_init(&team.gate_lock, NULL);
  pthread_cond_init(&team.gate, NULL);
  unsigned created = 1;
  for (; created < threads; ++created) {
    members[created] = (member_t){&team, created};
    if (pthread_create(&ids[created], NULL, member_main, &members[created]) != 0) break;
  }
  const int ok = created == threads;
  pthread_mutex_lock(&team.gate_lock);
  team.state = ok ? 1 : 2;
  pthread_cond_broadcast(&team.gate);
  pthread_mutex_unlock(&team.gate_lock);
  if (ok) run_member(&team, 0);
  for (unsigned i = 1; i < created; ++i) pthread_join(ids[i], NULL);
  if (have_mask && ok) pthread_setaffinity_np(pthread_self(), sizeof(caller_mask), &caller_mask);
  if (ok) {
    for (unsigned p = 0; p < passes; ++p) {
      const double* s = team.start + (size_t)(p + 1) * threads;
      const double* e = team.end + (size_t)(p + 1) * threads;
      double first = s[0], last = e[0];
      for (unsigned i = 1; i < threads; ++i) {
        if (s[i] < first) first = s[i];
        if (e[i] > last) last = e[i];
      }
      seconds[p] = last - first;
    }
  }
  pthread_cond_destroy(&team.gate);
  pthread_mutex_destroy(&team.gate_lock);
  pthread_barrier_destroy(&team.barrier);
  free(team.start); free(team.end); free(members); free(ids);
  return ok ? 0 : -1;
}
