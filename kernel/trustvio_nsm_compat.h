/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * trustvio_nsm: the differences between the kernels this driver builds for,
 * in one place.
 *
 * Linux 6.7 .. 6.15 call the configfs-tsm report provider API struct tsm_ops
 * and tsm_register()/tsm_unregister() (include/linux/tsm.h). From 6.16 the
 * same API is struct tsm_report_ops and tsm_report_register(); the old names
 * went to the PCI/TSM core with other meanings. The measurement register
 * library (include/linux/tsm-mr.h, CONFIG_TSM_MEASUREMENTS) exists from 6.16.
 *
 * Which provider API the headers declare is found by Kbuild (a grep of
 * include/linux/tsm.h sets TVNSM_TSM_REPORT_API), the rest by configuration:
 * CONFIG_TSM_REPORTS for the provider, CONFIG_TSM_MEASUREMENTS for tsm-mr.
 */
#ifndef TRUSTVIO_NSM_COMPAT_H
#define TRUSTVIO_NSM_COMPAT_H

#if IS_ENABLED(CONFIG_TSM_REPORTS)
#define TVNSM_HAVE_REPORTS 1
#include <linux/tsm.h>
#ifdef TVNSM_TSM_REPORT_API
#define tvnsm_report_ops tsm_report_ops
#define tvnsm_report_register tsm_report_register
#define tvnsm_report_unregister tsm_report_unregister
#else
#define tvnsm_report_ops tsm_ops
#define tvnsm_report_register tsm_register
#define tvnsm_report_unregister tsm_unregister
#endif
/* the input and output limits were renamed with the API */
#ifdef TSM_REPORT_INBLOB_MAX
#define TVNSM_INBLOB_MAX TSM_REPORT_INBLOB_MAX
#define TVNSM_OUTBLOB_MAX TSM_REPORT_OUTBLOB_MAX
#else
#define TVNSM_INBLOB_MAX TSM_INBLOB_MAX
#define TVNSM_OUTBLOB_MAX TSM_OUTBLOB_MAX
#endif
#else
#define TVNSM_HAVE_REPORTS 0
#endif

#if IS_ENABLED(CONFIG_TSM_MEASUREMENTS)
#define TVNSM_HAVE_MR 1
#include <linux/tsm-mr.h>
#else
#define TVNSM_HAVE_MR 0
#endif

#endif /* TRUSTVIO_NSM_COMPAT_H */
